"""The response cache: a content-addressed summary store with claim markers for burst dedup."""
