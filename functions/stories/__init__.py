"""Breaking stories: near-duplicate items matched to the story they belong to (``minhash``,
``index``), a story's latest summary reused only while every fact it states still holds
(``reuse``), and updates that say which facts are new or gone."""
