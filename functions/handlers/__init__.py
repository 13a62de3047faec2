"""Thin Lambda handlers, one per trigger; ``router.handler`` is the deployed entry point."""
