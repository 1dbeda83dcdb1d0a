from django.urls import path, re_path

from .feeds import LatestThreadsAtomFeed, LatestThreadsFeed
from .views import browse, moderation, notifications, posting

app_name = "forum"

urlpatterns = [
    # Reading
    path("forum/", browse.index, name="index"),
    path("forum/categories/", browse.categories, name="categories"),
    re_path(r"^forum/(?P<sort>top|unanswered|solved)/$", browse.thread_list_sorted, name="list"),
    path("forum/c/<str:slug>/", browse.category_detail, name="category"),
    path("forum/tag/<str:slug>/", browse.tag_detail, name="tag"),
    path("forum/t/<uuid:pk>/", browse.thread_short, name="thread_short"),
    path("forum/t/<str:slug>/<uuid:pk>/", browse.thread_detail, name="thread"),
    path("forum/p/<uuid:pk>/", browse.post_permalink, name="post"),
    path("forum/p/<uuid:pk>/raw/", browse.post_raw, name="post_raw"),
    path("forum/p/<uuid:pk>/history/", browse.post_history, name="post_history"),
    path("forum/u/<str:username>/", browse.member_detail, name="user"),
    # Feeds
    path("forum/feed/rss/", LatestThreadsFeed(), name="rss"),
    path("forum/feed/atom/", LatestThreadsAtomFeed(), name="atom"),
    path("forum/c/<str:slug>/feed/rss/", LatestThreadsFeed(), name="category_rss"),
    path("forum/c/<str:slug>/feed/atom/", LatestThreadsAtomFeed(), name="category_atom"),
    # Writing
    path("forum/new/", posting.thread_new, name="thread_new"),
    path("forum/c/<str:slug>/new/", posting.thread_new, name="category_thread_new"),
    path("forum/c/<str:slug>/watch/", posting.category_subscribe, name="category_subscribe"),
    path("forum/t/<uuid:pk>/reply/", posting.reply, name="reply"),
    path("forum/t/<uuid:pk>/watch/", posting.thread_subscribe, name="thread_subscribe"),
    path("forum/t/<uuid:pk>/solution/", posting.solution, name="solution"),
    path("forum/p/<uuid:pk>/edit/", posting.post_edit, name="post_edit"),
    path("forum/p/<uuid:pk>/like/", posting.post_like, name="post_like"),
    path("forum/p/<uuid:pk>/flag/", posting.post_flag, name="post_flag"),
    path("forum/preview/", posting.preview, name="preview"),
    # Notifications
    path("forum/notifications/", notifications.notification_list, name="notifications"),
    path("forum/notifications/count/", notifications.notification_count, name="notification_count"),
    path("forum/notifications/<uuid:pk>/", notifications.notification_open, name="notification_open"),
    path("forum/settings/", notifications.notification_settings, name="notification_settings"),
    path("forum/unsubscribe/<str:token>/", notifications.unsubscribe, name="unsubscribe"),
    # Moderation
    path("forum/t/<uuid:pk>/mod/<str:action>/", moderation.thread_moderate, name="thread_moderate"),
    path("forum/t/<uuid:pk>/split/", moderation.thread_split, name="thread_split"),
    path("forum/p/<uuid:pk>/mod/<str:action>/", moderation.post_moderate, name="post_moderate"),
    path("forum/review/", moderation.review, name="review"),
    path("forum/review/<uuid:pk>/", moderation.review_decide, name="review_decide"),
    path("forum/u/<str:username>/sanction/", moderation.member_sanction, name="user_sanction"),
    path("forum/sanctions/", moderation.sanctions, name="sanctions"),
    path("forum/sanctions/<uuid:pk>/lift/", moderation.sanction_lift, name="sanction_lift"),
    path("forum/audit/", moderation.audit, name="audit"),
]
