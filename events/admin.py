from __future__ import annotations

from django.contrib import admin

from events.models import Attendee, Event, Resource, Speaker, Subscriber, Theme


class SpeakerInline(admin.StackedInline):
    model = Speaker
    extra = 0
    autocomplete_fields = ["user"]


class ThemeInline(admin.TabularInline):
    model = Theme
    extra = 0


class ResourceInline(admin.TabularInline):
    model = Resource
    extra = 0


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "starts_at",
        "phase",
        "format",
        "join_code",
        "organiser",
        "recap_published",
    ]
    list_filter = ["phase", "format", "recap_published", "starts_at"]
    search_fields = ["title", "motion", "join_code", "slug"]
    date_hierarchy = "starts_at"
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["join_code", "host_key", "created_at", "updated_at"]
    autocomplete_fields = ["organiser"]
    inlines = [SpeakerInline, ThemeInline, ResourceInline]


@admin.register(Speaker)
class SpeakerAdmin(admin.ModelAdmin):
    list_display = ["name", "role", "side", "affiliation", "event"]
    list_filter = ["role", "side"]
    search_fields = ["name", "affiliation", "event__title"]
    list_select_related = ["event"]


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "position"]
    search_fields = ["name", "event__title"]
    list_select_related = ["event"]


@admin.register(Attendee)
class AttendeeAdmin(admin.ModelAdmin):
    list_display = ["__str__", "event", "joined_at", "last_seen_at"]
    list_filter = ["event"]
    search_fields = ["display_name", "event__title"]
    # The token is the attendee's only credential: never shown.
    exclude = ["token"]
    readonly_fields = ["joined_at", "last_seen_at"]
    list_select_related = ["event"]


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "consented_at", "source_event", "created_at"]
    list_filter = ["source_event", "created_at"]
    search_fields = ["email"]
    list_select_related = ["source_event"]


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ["title", "url", "event"]
    search_fields = ["title", "url", "event__title"]
    list_select_related = ["event"]
