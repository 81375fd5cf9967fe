"""An event's team (issue 17): the organisers invite co-organisers, hosts and moderators by
email, see who joined and who has not, withdraw an invitation or take someone off the team; the
invited person opens the link, chooses a password (or signs in) and is on the team. Every write
is one function of events.team."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from events import selectors, team, team_mail
from events.access import event_for_organiser
from events.forms_team import InviteForm
from events.mail import site_url
from events.models import TeamRole

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _invitation_url(invitation) -> str:
    # SITE_URL, as every email's links: not whichever of the allowed hosts the organiser used.
    return site_url(reverse("events:invitation", args=[team.invitation_token(invitation)]))


@require_http_methods(["GET", "POST"])
def team_page(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_organiser(request, slug)
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                invitation = team.invitation_send(
                    event=event,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    invited_by=request.user,
                )
            except ValidationError as error:
                form.add_error("email", error)
            else:
                team_mail.invitation_email_queue(
                    invitation=invitation, url=_invitation_url(invitation)
                )
                messages.success(
                    request,
                    _("Invitation sent to %(email)s.") % {"email": invitation.email},
                )
                return redirect("events:team", slug=event.slug)
        status = 400
    # A link lets whoever opens it make the account of its address: only the person who sent
    # the invitation sees it (to pass on if the email does not arrive), not the whole team.
    invitations = [
        {
            "invitation": invitation,
            "url": _invitation_url(invitation)
            if invitation.invited_by_id == request.user.pk
            else "",
        }
        for invitation in selectors.invitations_open(event)
    ]
    context = {
        "event": event,
        "form": form,
        "members": selectors.team_of(event),
        "invitations": invitations,
    }
    return render(request, "events/team.html", context, status=status)


@require_POST
def invitation_withdraw(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_organiser(request, slug)
    if team.invitation_withdraw(event=event, invitation_id=_int(request.POST.get("invitation"))):
        messages.success(request, _("Invitation withdrawn: its link no longer works."))
    return redirect("events:team", slug=event.slug)


@require_POST
def member_remove(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_organiser(request, slug)
    if team.membership_remove(event=event, membership_id=_int(request.POST.get("member"))):
        messages.success(request, _("Taken off the team. Their open consoles closed."))
    return redirect("events:team", slug=event.slug)


def _int(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() else 0


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the invitation email."""
    try:
        invitation = team.invitation_for_token(token)
    except ValidationError as error:
        return render(request, "events/invitation.html", {"problem": error.messages[0]}, status=400)
    account = team.account_for_email(invitation.email)
    signed_in = request.user.is_authenticated
    if account is not None and not signed_in:
        # Their password is theirs: the invitation only names the event, it opens no account.
        return redirect_to_login(request.get_full_path())
    form = None
    if account is None and not signed_in:
        # Django's own form: the site's password validators, typed twice. The account is made
        # by the service, with the invited address, only once the password passes.
        user = get_user_model()(username=invitation.email, email=invitation.email)
        form = SetPasswordForm(user, request.POST or None)
    problem, status = "", 200
    if signed_in and (account is None or account.pk != request.user.pk):
        problem, status = str(team.INVITATION_WRONG_ACCOUNT), 403
    if request.method == "POST" and not problem:
        if form is not None and not form.is_valid():
            status = 400
        else:
            try:
                membership, user = team.invitation_accept(
                    token=token,
                    user=request.user if signed_in else None,
                    password=form.cleaned_data["new_password1"] if form is not None else None,
                )
            except ValidationError as error:
                problem, status = error.messages[0], 400
            else:
                if not signed_in:
                    login(request, user, backend=BACKEND)
                messages.success(
                    request,
                    _("You are on the team of “%(title)s” as %(role)s.")
                    % {"title": membership.event.title, "role": membership.get_role_display()},
                )
                if membership.role == TeamRole.CO_ORGANISER:
                    return redirect("events:event_edit", slug=membership.event.slug)
                return redirect("debates:console", slug=membership.event.slug)
    context = {
        "invitation": invitation,
        "form": form,
        "problem": problem,
        "signed_in_as": request.user if signed_in else None,
    }
    return render(request, "events/invitation.html", context, status=status)
