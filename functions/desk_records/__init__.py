"""What the editors' desk keeps: ``feed`` (every story the pipeline delivered, with its article,
written by the pipeline's delivery step) and ``verdicts`` (the editors' judgements and their
export as references). Below the app and the pipeline, beside the other sinks; the desk's page
(``functions/desk/``) reads and writes them through the app."""
