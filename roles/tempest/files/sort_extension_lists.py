"""Sort the comma-separated API extension lists of a tempest.conf in place.

discover-tempest-config writes each service's extensions in the order the API lists them, and
keystone's order changes from one call to the next: unsorted, tempest.conf would differ on every
run and its install would never be idempotent. The order means nothing to Tempest.
"""

import re
import sys

EXTENSIONS = re.compile(r"^(api_extensions\s*=\s*)(.*)$", re.MULTILINE)


def sort_extension_lists(text: str) -> str:
    def sorted_list(match: re.Match) -> str:
        names = sorted(name.strip() for name in match.group(2).split(",") if name.strip())
        return match.group(1) + ", ".join(names)

    return EXTENSIONS.sub(sorted_list, text)


def main(path: str) -> None:
    with open(path, encoding="utf-8") as conf:
        text = conf.read()
    with open(path, "w", encoding="utf-8") as conf:
        conf.write(sort_extension_lists(text))


if __name__ == "__main__":
    main(sys.argv[1])
