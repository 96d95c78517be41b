"""Login, roles and what each role may see (issue: login, roles and server-side scope).

Until that issue lands, the app runs as a demo administrator; the indicator engine already takes the
viewer's scope as an argument of every question, so authorisation has one place to plug into.
"""
