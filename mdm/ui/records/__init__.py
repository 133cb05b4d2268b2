"""Steward UI: search, a golden record's page (fields with lineage, source links, merges, history, "as of"),
and the forms that propose a change, create a record (with live duplicate suggestions), retire or unmerge one.

Every write is a change request made by ``mdm.services.changes`` (the record itself changes once approved), so
each form redirects to the new request's page. The entity types come from the registry: a type appears here
when its ``EntitySpec`` has a ``StewardshipAdapter``; ``mdm`` never imports the domain apps.
"""

from django.urls import path

from mdm.ui.records.detail import record_detail
from mdm.ui.records.propose import record_create, record_edit, record_retire, record_suggest, record_unmerge
from mdm.ui.records.search import search

urlpatterns = [
    path("search/", search, name="search"),
    path("records/<str:entity_type>/new/", record_create, name="record-create"),
    path("records/<str:entity_type>/suggest/", record_suggest, name="record-suggest"),
    path("records/<str:entity_type>/<int:pk>/", record_detail, name="record-detail"),
    path("records/<str:entity_type>/<int:pk>/edit/", record_edit, name="record-edit"),
    path("records/<str:entity_type>/<int:pk>/retire/", record_retire, name="record-retire"),
    path("records/<str:entity_type>/<int:pk>/unmerge/", record_unmerge, name="record-unmerge"),
]
