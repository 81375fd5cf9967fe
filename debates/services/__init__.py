"""Rules of the live debate, one module per domain: voting (votes and polls), phases, rounds
(breakout rounds and rooms), points, takeaways, set_aside. Every write goes through a function
there; views, consumers and debates.host_actions only translate transport to these calls.
Import the domain module (`from debates.services import voting`); nothing is re-exported here.
"""
