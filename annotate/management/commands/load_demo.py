from django.core.management.base import BaseCommand

from annotate import jobs
from annotate.setup.demo import DEMO_ANNOTATORS, DEMO_REVIEWER, demo_password, load_demo


class Command(BaseCommand):
    help = "Create the admin user and the demo project (idempotent) and print the credentials."

    def handle(self, *args: object, **options: object) -> None:
        project, created = load_demo()
        if created:
            # The first model trains as soon as the worker starts, so the demo
            # opens with a ranked queue and focus labels. Sent by name because
            # annotate does not import learner.
            jobs.request_retrain(project_id=project.pk, trigger="demo")
        password = demo_password()
        self.stdout.write(self.style.SUCCESS(f"Demo project ready: {project.name} ({project.items.count()} items)"))
        self.stdout.write(f"  admin user:  admin / {password}")
        self.stdout.write(f"  annotators:  {', '.join(DEMO_ANNOTATORS)} / same password")
        self.stdout.write(f"  reviewer:    {DEMO_REVIEWER} / same password")
