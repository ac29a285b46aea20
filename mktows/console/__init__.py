"""The web console at /console and the landing page at /: server-rendered pages (Jinja2)
for the people who run the instance, over the same `Engine` the SOAP face uses.

Like an operation module, a page module only translates: it reads the request, calls the
engine, and renders a template. No SQL here; no HTML in the engine.
"""
