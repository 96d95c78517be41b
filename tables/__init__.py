"""The processed national tables: schema, connection and the published data version.

Data flows one way: loader → tables → queries → dashboards / API / exports.
"""
