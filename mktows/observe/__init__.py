"""What operators see: structured logs (`logs.py`), the request id of each HTTP request
(`requests.py`) and Prometheus metrics (`metrics.py`); docs/operations.md describes them.

Every layer may use it; it imports nothing else of mktows.
"""
