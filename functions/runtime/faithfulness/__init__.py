"""The faithfulness check: how well each summary sentence is supported by its article.

One checker (``checker.check``) serves the runtime's guard, ``newsburst judge``, the eval, the
cascade and the desk. It combines a few signals, each measured against people's factuality
judgments of published summaries (FRANK, ``../shared/faithfulness/frank_dev.jsonl``), with a
logistic regression whose weights and their provenance are in ``weights.json``:

- ``lexical``: what of the sentence the article says, and whether its best-matching article
  sentences say it together (content words, n-grams, claims that stand together);
- ``wholeness``: a sentence cut short, or ending on a word that needs more;
- ``evidence``: the model's own log-probability of each summary token with and without the
  article (pointwise mutual information), from the bundle's graph.
"""
