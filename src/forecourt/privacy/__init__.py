"""The customer's rights over their data, on top of every domain: the customer 360 a steward may see, and
"download my data" and "erase me", each composed from the domains' own ``records``/``export_of`` functions.

It sits above the domains so that none of them needs to know the others to answer for one person.
"""
