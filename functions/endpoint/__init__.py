"""The GPU container endpoint for long contexts (SageMaker inference container contract)."""
