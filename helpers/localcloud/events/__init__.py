"""EventBridge scheduled rules in the local cloud: schedule expressions, the scheduler, target delivery.

The plane is ``helpers.localcloud.planes.event_schedules``. ``cron`` is shared with Glue, whose
triggers and crawler schedules use the same six-field cron syntax.
"""
