"""How the engine's answers read in words — one figure, a verdict, a target group, how the verdicts were made — the
same on a page (dashboards/), on paper (reports/) and wherever else an answer is written out.

Only strings (and where a figure stands on a funnel's axis), never layout: a page wraps them in its components, a
report in its template. Every text is a key of texts/; how precisely a figure may be shown is the engine's decision
(queries/disclosure.py), written out as decided.
"""
