"""The registry's receiving and processing: delivery files in, a new version of the national tables out.

What a delivery file holds is defined in `contracts/delivery_format.py`, shared with the synthetic generator,
the processed tables and the feedback page.

Receive:
- `finding`: the files below the delivery folder, in the order a refresh processes them, each read once
  (`ReceivedFile`: its bytes and their SHA-256, or why it could not be read), batch by batch (`DeliveryReader`).
- `validate`: one batch of received files validated (`validate_deliveries`, pure over the bytes), from the parts
  below: `files` (file level: name, organisation, encoding, header), `parsing` (the records as string columns,
  quotes and line breaks), `records` (record level: every field and the rules between fields), `objections`
  (when an objection can be honoured, also in a rejected file), `hints` (improvement hints), `messages` (the Dutch
  and English messages, and what of a value they repeat) and `results` (what validating gives).
- `storage`: one validated batch stored (deliveries, rejected records, hints, objections, records), and which
  files were read before (`known_hashes`).

Process:
- `linkage` and `derive`: one record per child and the derived variables of `births`.
- `refresh`: one atomic, versioned refresh that stores everything and publishes (`run_refresh`), with
  `register` (the organisation register file) and `bulk` (COPY / executemany inside its transaction).
- `console`: what `perispiegel load` and `perispiegel status` print.
"""
