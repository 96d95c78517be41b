"""The registry's receiving and processing: delivery files in, a new version of the national tables out.

What a delivery file holds is defined in `contracts/delivery_format.py`, shared with the synthetic generator,
the processed tables and the feedback page.

- `validate`: file- and record-level validation, objections and improvement hints (receive).
- `linkage` and `derive`: one record per child and the derived variables of `births` (process).
- `refresh`: one atomic, versioned refresh that stores everything and publishes (`run_refresh`).
- `console`: what `perispiegel load` and `perispiegel status` print.
"""
