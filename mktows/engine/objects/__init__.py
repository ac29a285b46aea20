"""Objects beside leads: MObjects (Program, Opportunity, OpportunityPersonRole), custom
objects, and their descriptions (describeMObject, listMObjects). Its calls are in `facade.py`."""
