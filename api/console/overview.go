package console

import "github.com/gin-gonic/gin"

// Overview is what the overview pages need.
type Overview struct{}

// overviewRoutes adds the overview pages to g.
func (k *Console) overviewRoutes(g *gin.RouterGroup) {}
