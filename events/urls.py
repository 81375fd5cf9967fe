from __future__ import annotations

from django.urls import path

from events import views

app_name = "events"

urlpatterns = [
    path("", views.index, name="index"),
    path("organiser/", views.organiser_home, name="organiser_home"),
    path("organiser/events/new/", views.event_new, name="event_new"),
    path("organiser/events/<slug:slug>/edit/", views.event_edit, name="event_edit"),
    path(
        "organiser/events/<slug:slug>/host-link/",
        views.host_link_rotate,
        name="host_link_rotate",
    ),
    path("events/<slug:slug>/calendar.ics", views.event_ics, name="event_ics"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribers.csv", views.subscribers_csv, name="subscribers_csv"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
