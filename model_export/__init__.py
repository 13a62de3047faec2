"""Offline export toolchain: teacher -> distilled student -> ONNX KV-cache graph -> int8 -> bundle.

Heavy imports (torch, transformers) live inside this package only; the serving path in
``functions`` never imports it.
"""
