"""The editors' desk: the stories the pipeline delivered, with their evidence, live; a pasted
article summarized while the editor watches; and the editors' verdicts, fed back as references.

``web`` is the one set of routes (run by uvicorn locally, by Mangum on Lambda), ``summarize_now``
the pasted article summarized as the editor watches, ``commands`` the
``newsburst desk`` command, ``static/`` the page. What the desk keeps (the stories delivered, the
verdicts) lives in ``functions/desk_records/``, in ``functions/objects.py``'s stores.
"""
