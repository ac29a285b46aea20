"""The SOAP face: envelope parsing, authentication, faults, the schema codec and operations."""
