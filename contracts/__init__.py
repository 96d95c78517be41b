"""The contracts between perispiegel and the outside world, at the bottom of the layers (docs/architecture.md).

- `delivery_format`: the one definition of a delivery file — what a care organisation's software sends. The
  synthetic generator writes it, the loader validates against it, the processed tables take their typed columns
  from it and the delivery-feedback page names its fields with it.

Nothing here imports another perispiegel package.
"""
