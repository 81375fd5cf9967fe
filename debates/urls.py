from __future__ import annotations

from django.urls import path

from debates import views

app_name = "debates"

urlpatterns = [
    path("join/", views.join, name="join"),
    path("e/<slug:slug>/", views.event_page, name="event"),
]
