DROP TABLE events;
DROP TABLE device_assignments;
DROP TABLE devices;
DROP TABLE memberships;
DROP TABLE user_groups;
DROP TABLE users;
