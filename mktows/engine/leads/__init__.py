"""Leads: the field registry, lead keys and reads, sync (getLead, syncLead, syncMultipleLeads,
getMultipleLeads), merges, and the workspace a lead lives in. Its calls are in `facade.py`."""
