"""Pure metric functions, one module per stage of the client journey.

``enrollment`` (02), ``activity`` (03), ``basket`` (04), ``satisfaction`` (05), ``impact`` (06),
``roi`` (07) and ``metrics_map`` (01). Import the module you need, e.g.
``from loyalty_lib.metrics import enrollment``.
"""
