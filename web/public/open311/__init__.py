"""Open311 GeoReport v2 at /open311/v2: the catalogue as services, cases as service requests.

views.py holds the endpoints, render.py writes JSON and XML, cli.py the `open311 key` commands;
the rules themselves are in core.services.open311 and core.services.api_keys.
"""
