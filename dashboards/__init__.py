"""The Dash pages, their shared frame (header, navigation, footer), texts and view state.

Pages read through `queries/` and never compute statistics themselves; everything a page shows follows the
view state in the URL (`view_state.py`).
"""
