ALTER TABLE settings DROP COLUMN grant_ending_notice_hours;
ALTER TABLE settings DROP COLUMN approver_reminder_days;
DROP TABLE notification_marks;
DROP TABLE delivery_attempts;
DROP TABLE outbox;
DROP TABLE webhook_channels;
