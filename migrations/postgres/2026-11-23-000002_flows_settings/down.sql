DROP TABLE settings;
DROP TABLE flow_users;
DROP TABLE flow_groups;
DROP TABLE approval_flows;
