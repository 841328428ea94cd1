from django.core.management.base import BaseCommand

from annotate.demo import DEMO_ANNOTATORS, DEMO_REVIEWER, demo_password, load_demo


class Command(BaseCommand):
    help = "Create the admin user and the demo project (idempotent) and print the credentials."

    def handle(self, *args: object, **options: object) -> None:
        project = load_demo()
        password = demo_password()
        self.stdout.write(self.style.SUCCESS(f"Demo project ready: {project.name} ({project.items.count()} items)"))
        self.stdout.write(f"  admin user:  admin / {password}")
        self.stdout.write(f"  annotators:  {', '.join(DEMO_ANNOTATORS)} / same password")
        self.stdout.write(f"  reviewer:    {DEMO_REVIEWER} / same password")
