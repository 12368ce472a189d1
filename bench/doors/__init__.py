"""Door profiles: what the scenarios need to know about one door (paths, credential, seeding).

Adding a door's scenarios = adding a profile here with the same methods as RoomsProfile and
listing it in PROFILES; the scenarios in bench/scenarios/ loop over the profiles that offer
what they measure (rest_targets, ws_path, growth_targets).
"""

from bench.doors.campus import CampusProfile
from bench.doors.directory import DirectoryProfile
from bench.doors.phone import PhoneProfile
from bench.doors.rooms import RoomsProfile
from bench.doors.social import SocialProfile

PROFILES = {"rooms": RoomsProfile(), "directory": DirectoryProfile(), "social": SocialProfile(),
            "phone": PhoneProfile(), "campus": CampusProfile()}
