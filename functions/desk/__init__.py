"""The editors' desk: the stories the pipeline delivered, with their evidence, live; a pasted
article summarized while the editor watches; and the editors' verdicts, fed back as references.

``objects`` is where the desk keeps things (S3 beside the response cache, or a local folder),
``feed`` the stories, ``verdicts`` the editors' judgements, ``web`` the one set of routes (run by
uvicorn locally, by Mangum on Lambda), ``commands`` the ``newsburst desk`` command.
"""
