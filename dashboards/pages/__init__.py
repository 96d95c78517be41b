"""One module per page; each has a `layout(**query_parameters)` that `app.py` registers with Dash Pages."""
