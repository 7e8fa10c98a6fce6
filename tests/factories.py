"""Factories for the test cast and its data."""

import factory
from allauth.account.models import EmailAddress

from accounts import services
from accounts.models import Membership, Role, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.fr")
    name = factory.Faker("name", locale="fr_FR")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        obj.save()
        if create:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


def workspace_for(owner: User, name: str):
    return services.workspace_create(name=name, slug=services.unique_slug(name), owner=owner)


def add_member(workspace, user: User, role: str = Role.AGENT) -> Membership:
    return Membership.objects.create(workspace=workspace, user=user, role=role)
