"""The ops team's tools: the warm-pool planner and the burst load test.

Not part of the Lambda package (it ships ``functions/`` only); they stand on the functions and
the runtime, and nothing there imports them.
"""
