"""The registry's receiving and processing: delivery files in, a new version of the national tables out.

What a delivery file holds is defined in `contracts/delivery_format.py`, shared with the synthetic generator,
the processed tables and the feedback page.

Receive:
- `finding`: the files below the delivery folder, in the order a refresh processes them.
- `validate`: one batch of files validated (`validate_deliveries`), from the parts below:
  `files` (file level: name, organisation, encoding, header), `parsing` (the bodies as string columns),
  `records` (record level: every field and the rules between fields), `hints` (improvement hints),
  `messages` (the Dutch and English messages) and `results` (what validating gives).
- `storage`: one validated batch stored (deliveries, rejected records, hints, objections, records).

Process:
- `linkage` and `derive`: one record per child and the derived variables of `births`.
- `refresh`: one atomic, versioned refresh that stores everything and publishes (`run_refresh`), with
  `register` (the organisation register file) and `bulk` (COPY / executemany inside its transaction).
- `console`: what `perispiegel load` and `perispiegel status` print.
"""
