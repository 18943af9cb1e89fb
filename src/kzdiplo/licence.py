"""The licences, each sentence written once: the compilation is ours to license, the facts
and quotes keep their sources' terms, the code is apart. Every page, export, release and
citation prints them from here."""

LICENSE_ID = "CC-BY-4.0"  # the compilation's licence, as SPDX names it
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
LICENCE = "Compilation: CC BY 4.0; facts and quotes: their sources' terms"
LICENCE_SHORT = f"{LICENSE_ID} for the compilation"  # where a line has no room for more
CODE_LICENCE = "MIT"
