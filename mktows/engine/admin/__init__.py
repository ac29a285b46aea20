"""The instance: API users and the definitions an instance file applies. Its calls are in
`facade.py`."""
