"""The activity log: the activity types, writing activities, and reading them back
(getLeadActivity, getLeadChanges). Its calls are in `facade.py`."""
