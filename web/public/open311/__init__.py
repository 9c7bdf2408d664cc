"""Open311 GeoReport v2 at /open311/v2: the catalogue as services, cases as service requests.

views.py holds the endpoints, forms.py reads what clients send, shapes.py what they get back and
render.py writes it as JSON or XML; cli.py has the `open311 key` commands. The services the views
call with plain values are core.services.open311 and core.services.api_keys.
"""
