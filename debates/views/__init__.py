"""Pages of the live debate, one module per page: event (the attendee's page and the
projector), room (the breakout panel), console (the host). Thin: rules are in services, reads in
selectors, host actions in debates.host_actions.
"""
