from __future__ import annotations

from django.urls import path

from events import views, views_lifecycle, views_mail, views_team

app_name = "events"

urlpatterns = [
    path("", views.index, name="index"),
    path("organiser/", views_lifecycle.organiser_home, name="organiser_home"),
    path(
        "organiser/events/<slug:slug>/duplicate/",
        views_lifecycle.event_duplicate,
        name="event_duplicate",
    ),
    path(
        "organiser/events/<slug:slug>/archive/", views_lifecycle.event_archive, name="event_archive"
    ),
    path("organiser/events/<slug:slug>/delete/", views_lifecycle.event_delete, name="event_delete"),
    path("organiser/events/<slug:slug>/team/", views_team.team_page, name="team"),
    path(
        "organiser/events/<slug:slug>/team/withdraw/",
        views_team.invitation_withdraw,
        name="team_invitation_withdraw",
    ),
    path(
        "organiser/events/<slug:slug>/team/remove/",
        views_team.member_remove,
        name="team_member_remove",
    ),
    path("invitations/<str:token>/", views_team.invitation, name="invitation"),
    path("organiser/events/new/", views.event_new, name="event_new"),
    path("organiser/events/<slug:slug>/edit/", views.event_edit, name="event_edit"),
    path(
        "organiser/events/<slug:slug>/host-link/",
        views.host_link_rotate,
        name="host_link_rotate",
    ),
    path("events/<slug:slug>/calendar.ics", views.event_ics, name="event_ics"),
    path("organiser/events/<slug:slug>/outbox/", views_mail.event_outbox, name="event_outbox"),
    path(
        "organiser/events/<slug:slug>/announce/",
        views_mail.event_announce,
        name="event_announce",
    ),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:token>/", views.subscribe_confirm, name="subscribe_confirm"),
    path("subscribers.csv", views.subscribers_csv, name="subscribers_csv"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
