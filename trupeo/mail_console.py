"""Transactional mail printed on the console, readable (the local trial's default)."""

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

from trupeo.mail_reading import RULE, readable


class EmailBackend(DjangoConsoleBackend):
    def write_message(self, message) -> None:
        self.stream.write(readable(message.message().as_bytes()))
        self.stream.write(f"{RULE}\n")
