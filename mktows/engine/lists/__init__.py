"""Static lists: membership (listOperation) and list imports (importToList, run as a job).
Its calls are in `facade.py`."""
