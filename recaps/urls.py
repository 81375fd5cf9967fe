from __future__ import annotations

from django.urls import path

from recaps import views

app_name = "recaps"

urlpatterns = [
    path("e/<slug:slug>/summary/", views.summary, name="summary"),
    path("e/<slug:slug>/summary/publish/", views.recap_publish, name="recap_publish"),
    path("e/<slug:slug>/export/recap.md", views.export_markdown, name="export_markdown"),
    path("e/<slug:slug>/export/votes.csv", views.export_votes, name="export_votes"),
    path("e/<slug:slug>/export/points.csv", views.export_points, name="export_points"),
    path(
        "e/<slug:slug>/export/what-changed-minds.csv",
        views.export_persuasion,
        name="export_persuasion",
    ),
    path("recaps/<slug:slug>/", views.recap, name="recap"),
    path("series/<slug:slug>/", views.series_page, name="series"),
]
